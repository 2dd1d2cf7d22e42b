import sys, json, glob, os, numpy as np, rasterio
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import transform_geom
from scipy import ndimage as ndi
GSD=0.07; C=8
LAB={'poppy':0,'cannabis':1,'bare_soil':3,'road':3,'roof':3}
def load(path):
    with rasterio.open(path) as ds:
        crs=ds.crs; t=ds.transform
        if crs.is_geographic:
            gsd=abs(t.a)*111320*np.cos(np.radians(ds.xy(0,0)[1]))
        else: gsd=abs(t.a)
        f=gsd/GSD; h=max(8,int(ds.height*f)); w=max(8,int(ds.width*f))
        rs=Resampling.average if f<1 else Resampling.bilinear
        a=ds.read(out_shape=(ds.count,h,w),resampling=rs).astype(np.float32)
        desc=[ (d or '').lower() for d in ds.descriptions]; ci=[c.name for c in ds.colorinterp]
        dt=ds.dtypes[0]
        nt=t*t.scale(ds.width/w, ds.height/h)
        truth=json.load(open(path[:-4]+'.truth.geojson'))
        lab=np.full((h,w),2,np.uint8); stage=np.zeros((h,w),np.uint8)
        shapes=[];sh2=[]
        feats=sorted(truth['features'],key=lambda f:-f['properties'].get('area_m2',0))
        for ft in feats:
            g=transform_geom('EPSG:4326',crs,ft['geometry'])
            c=ft['properties']['class']; shapes.append((g,LAB.get(c,2)))
            if c=='poppy': sh2.append((g,1 if ft['properties'].get('stage')=='flowering' else 2))
            elif c=='cannabis': sh2.append((g,1))
        if shapes: lab=rasterize(shapes,out_shape=(h,w),transform=nt,fill=2,dtype='uint8')
        if sh2: stage=rasterize(sh2,out_shape=(h,w),transform=nt,fill=0,dtype='uint8')
    # mask
    if 'Alpha' in ci: 
        ai=ci.index('Alpha'); mask=a[ai]>0; rgb=a[:3]
    else:
        rgb=a[:3]; mask=(a>0).any(0)
    nir=a[3] if (a.shape[0]>=4 and 'Alpha' not in ci) else None
    scale=255.0 if dt=='uint8' else None
    if dt=='uint8': rgb=rgb/255.0
    else:
        rgb=rgb/10000.0; wp=np.percentile(rgb[:,mask],99); rgb=np.clip(rgb/max(wp,1e-3),0,1)**(1/2.2)
    return rgb,mask,lab,stage

def cellify(x,C=C):
    h,w=x.shape[-2:]; h//=C; w//=C
    x=x[...,:h*C,:w*C]
    return x.reshape(x.shape[:-2]+(h,C,w,C))

def features(rgb,mask):
    eps=1e-3
    m=mask
    # gray world
    import os
    NORM=os.environ.get('NORM','gw')
    if NORM=='gw':
        mu=np.array([rgb[i][m].mean() for i in range(3)])+eps
        n=rgb/mu[:,None,None]*mu.mean()
    else:
        lo=np.array([np.percentile(rgb[i][m],2) for i in range(3)]); hi=np.array([np.percentile(rgb[i][m],98) for i in range(3)])
        n=np.clip((rgb-lo[:,None,None])/(hi-lo+eps)[:,None,None],0,1.5)+0.02
    L=n.mean(0)+eps
    Lmed=np.median(L[m])
    Lr=L/Lmed
    r,g,b=n[0]/ (3*L), n[1]/(3*L), n[2]/(3*L)
    o1=(n[0]-n[1])/L; o2=(n[0]+n[1]-2*n[2])/(2*L)
    sat=np.hypot(o1,o2); hue=np.arctan2(o2,o1)
    if os.environ.get('SATN'):
        sm=np.median(sat[m])+eps; o1=o1/sm*0.2; o2=o2/sm*0.2; sat=sat/sm*0.2
    H=8
    hb=((hue+np.pi)/(2*np.pi)*H).astype(int)%H
    bins=[]
    ach=sat<0.10
    bins.append(ach&(Lr<0.6)); bins.append(ach&(Lr>=0.6)&(Lr<1.4)); bins.append(ach&(Lr>=1.4))
    for s0,s1 in [(0.10,0.3),(0.3,9)]:
        for k in range(H):
            bins.append((~ach)&(sat>=s0)&(sat<s1)&(hb==k))
    # brightness-split of chromatic: bright chroma specks
    bins.append((~ach)&(Lr>1.4)); bins.append((~ach)&(Lr<0.6))
    B=np.stack(bins).astype(np.float32)*m
    # speck: pixel differs from 5x5 median strongly
    Lm=ndi.median_filter(Lr,size=5)
    speck_b=((Lr>Lm*1.25)&m).astype(np.float32)
    speck_d=((Lr<Lm*0.75)&m).astype(np.float32)
    om1=ndi.median_filter(o1,5); om2=ndi.median_filter(o2,5)
    speck_c=((np.hypot(o1-om1,o2-om2)>0.25)&m).astype(np.float32)
    lap=np.abs(ndi.laplace(Lr))*m
    gx=ndi.sobel(Lr,1); gy=ndi.sobel(Lr,0)
    mag=np.hypot(gx,gy)*m
    per=np.concatenate([B,np.stack([speck_b,speck_d,speck_c,lap,mag,Lr*m,r*m,g*m,b*m,sat*m,o1*m,o2*m,(Lr*m)**2])],0)
    cm=cellify(m.astype(np.float32)).sum((-3,-1))
    cs=cellify(per).sum((-3,-1))  # (F,h,w)
    valid=cm>=0.5*C*C
    f=cs/np.maximum(cm,1)
    std=np.sqrt(np.maximum(f[-1]-f[-8]**2,0))
    f=np.concatenate([f[:-1],std[None]],0)
    # orientation coherence per cell (rows)
    jxx=cellify(gx*gx*m).sum((-3,-1)); jyy=cellify(gy*gy*m).sum((-3,-1)); jxy=cellify(gx*gy*m).sum((-3,-1))
    coh=np.sqrt((jxx-jyy)**2+4*jxy**2)/(jxx+jyy+1e-6)
    f=np.concatenate([f,coh[None]],0)
    # context: 3x3 and 7x7 mean (weighted by valid)
    out=[f]
    for k in (3,7):
        wv=ndi.uniform_filter(valid.astype(np.float32),k)+1e-6
        out.append(np.stack([ndi.uniform_filter(fi*valid,k)/wv for fi in f]))
    # cell minus 7x7 ctx for some
    F=np.concatenate(out,0)
    return F,valid

def cell_labels(lab,stage,mask):
    cl=cellify(lab); h,w=cl.shape[0],cl.shape[2]
    cl=cl.transpose(0,2,1,3).reshape(h,w,-1)
    # majority label
    counts=np.stack([(cl==k).sum(-1) for k in range(4)],-1)
    y=counts.argmax(-1); pure=counts.max(-1)>=0.75*C*C
    st=cellify(stage).transpose(0,2,1,3).reshape(h,w,-1)
    sy=np.stack([(st==k).sum(-1) for k in range(3)],-1).argmax(-1)
    return y,pure,sy

def scene(path):
    rgb,mask,lab,stage=load(path)
    F,valid=features(rgb,mask)
    y,pure,sy=cell_labels(lab,stage,mask)
    h,w=y.shape; F=F[:,:h,:w]; valid=valid[:h,:w]
    sel=valid&pure
    return F[:,sel].T, y[sel], sy[sel]

if __name__=='__main__':
    out=sys.argv[1]; files=sys.argv[2:]
    X=[];Y=[];S=[];G=[]
    for i,p in enumerate(files):
        x,y,s=scene(p); X.append(x);Y.append(y);S.append(s);G.append(np.full(len(y),i))
    np.savez_compressed(out,X=np.concatenate(X),y=np.concatenate(Y),s=np.concatenate(S),g=np.concatenate(G))
    print(out, sum(len(y) for y in Y))
