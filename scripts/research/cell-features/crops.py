# crops.py SCENE OUT.png : 7cm-resampled display crops (160x160 px) around first flowering poppy and cannabis plot, + a random background
import sys, numpy as np, rasterio, os
sys.path.insert(0,'.'); import feat2
rgb,nir,mask,lab,stage,meta=feat2.load(sys.argv[1])
n,Lr=feat2.prep(rgb,nir,mask,meta['bits'])
img=np.clip(n/np.percentile(n[:,mask],99),0,1)
tiles=[]
for cond in [(lab==0)&(stage==1),(lab==0)&(stage==2),(lab==1),(lab==2)]:
    ii,jj=np.nonzero(cond)
    if len(ii)==0: tiles.append(np.zeros((3,160,160))); continue
    k=len(ii)//2; i0=int(np.clip(ii[k]-80,0,img.shape[1]-160)); j0=int(np.clip(jj[k]-80,0,img.shape[2]-160))
    t=img[:,i0:i0+160,j0:j0+160].copy()
    c=cond[i0:i0+160,j0:j0+160]; e=c^np.roll(c,1,0)|c^np.roll(c,1,1); t[:,e]=[[1],[1],[0]]
    tiles.append(np.pad(t,((0,0),(0,160-t.shape[1]),(0,160-t.shape[2]))))
o=(np.concatenate(tiles,2)*255).astype(np.uint8)
with rasterio.open(sys.argv[2],'w',driver='PNG',width=o.shape[2],height=o.shape[1],count=3,dtype='uint8') as d: d.write(o)
print(meta)
