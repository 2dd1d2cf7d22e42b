# feat2.py: configurable per-cell features. env: MODE=base|heq|lin  C=8  GSD=0.07  SATN=1 (heq default)
import sys, json, os, numpy as np, rasterio
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.warp import transform_geom
from scipy import ndimage as ndi
GSD=float(os.environ.get('GSD','0.07')); C=int(os.environ.get('C','8')); MODE=os.environ.get('MODE','heq'); CAP=int(os.environ.get('CAP','20000'))
LAB={'poppy':0,'cannabis':1,'bare_soil':3,'road':3,'roof':3}
def load(path):
    with rasterio.open(path) as ds:
        crs=ds.crs; t=ds.transform
        gsd=abs(t.a)*111320*np.cos(np.radians(ds.xy(0,0)[1])) if crs.is_geographic else abs(t.a)
        f=gsd/GSD; h=max(8,int(ds.height*f)); w=max(8,int(ds.width*f))
        rs=Resampling.average if f<1 else Resampling.bilinear
        a=ds.read(out_shape=(ds.count,h,w),resampling=rs).astype(np.float32)
        ci=[c.name for c in ds.colorinterp]; dt=ds.dtypes[0]
        nt=t*t.scale(ds.width/w, ds.height/h)
        truth=json.load(open(path[:-4]+'.truth.geojson'))
        shapes=[];sh2=[]
        for ft in sorted(truth['features'],key=lambda f:-f['properties'].get('area_m2',0)):
            g=transform_geom('EPSG:4326',crs,ft['geometry']); c=ft['properties']['class']; shapes.append((g,LAB.get(c,2)))
            if c=='poppy': sh2.append((g,1 if ft['properties'].get('stage')=='flowering' else 2))
            elif c=='cannabis': sh2.append((g,1))
        lab=rasterize(shapes,out_shape=(h,w),transform=nt,fill=2,dtype='uint8') if shapes else np.full((h,w),2,np.uint8)
        stage=rasterize(sh2,out_shape=(h,w),transform=nt,fill=0,dtype='uint8') if sh2 else np.zeros((h,w),np.uint8)
    if 'Alpha' in ci: mask=a[ci.index('Alpha')]>0
    else: mask=(a>0).any(0)
    nir=a[3] if (a.shape[0]>=4 and 'Alpha' not in ci) else None
    rgb=a[:3]; bits=8 if dt=='uint8' else 16
    sc=255.0 if bits==8 else 10000.0
    rgb=rgb/sc; nir=None if nir is None else nir/sc
    return rgb,nir,mask,lab,stage,dict(gsd=gsd,bits=bits)

def cellify(x,C=C):
    h,w=x.shape[-2:]; h//=C; w//=C
    x=x[...,:h*C,:w*C]; return x.reshape(x.shape[:-2]+(h,C,w,C))

def prep(rgb,nir,m,bits):
    """per-survey normalisation -> n (3,h,w) display-like, Lr relative brightness"""
    eps=1e-3
    if MODE=='base':   # = feat.py: 16-bit white point p99 then gamma, gray world, L/median
        if bits==16:
            wp=np.percentile(rgb[:,m],99); rgb=np.clip(rgb/max(wp,1e-3),0,1)**(1/2.2)
        mu=np.array([rgb[i][m].mean() for i in range(3)])+eps; n=rgb/mu[:,None,None]*mu.mean()
        L=n.mean(0)+eps; Lr=L/np.median(L[m]); return n,Lr
    if MODE=='lin':    # linearise 8-bit (gamma 2.2), keep 16 linear; grey world; brightness / scene median
        if bits==8: rgb=rgb**2.2
        mu=np.array([rgb[i][m].mean() for i in range(3)])+1e-5; n=rgb/mu[:,None,None]*mu.mean()
        L=n.mean(0)+1e-5; Lr=L/np.median(L[m]); return n,Lr
    # heq: 16-bit -> gamma 1/2.2 ; grey world ; brightness = scene CDF rank of L mapped to [0,2] (median=1)
    if bits==16: rgb=np.clip(rgb,0,None)**(1/2.2)
    mu=np.array([rgb[i][m].mean() for i in range(3)])+eps; n=rgb/mu[:,None,None]*mu.mean()
    L=n.mean(0)+eps
    hist,edges=np.histogram(L[m],bins=1024,range=(0,float(L[m].max())+eps))
    cdf=np.cumsum(hist)/hist.sum()
    Lr=2*np.interp(L,edges[1:],cdf)
    return n,Lr

def features(rgb,nir,mask,bits):
    eps=1e-3; m=mask
    n,Lr=prep(rgb,nir,m,bits)
    L=n.mean(0)+1e-5
    r,g,b=n[0]/(3*L), n[1]/(3*L), n[2]/(3*L)
    o1=(n[0]-n[1])/L; o2=(n[0]+n[1]-2*n[2])/(2*L)
    sat=np.hypot(o1,o2); hue=np.arctan2(o2,o1)
    if MODE=='heq' and os.environ.get('SATN','1')=='1':
        k=0.2/(np.median(sat[m])+eps); o1=o1*k; o2=o2*k; sat=sat*k
    H=8; hb=((hue+np.pi)/(2*np.pi)*H).astype(int)%H
    lo,hi=(0.6,1.4) if MODE!='heq' else (0.5,1.6)
    ach=sat<0.10; bins=[ach&(Lr<lo), ach&(Lr>=lo)&(Lr<hi), ach&(Lr>=hi)]
    for s0,s1 in [(0.10,0.3),(0.3,9)]:
        for kk in range(H): bins.append((~ach)&(sat>=s0)&(sat<s1)&(hb==kk))
    bins.append((~ach)&(Lr>hi)); bins.append((~ach)&(Lr<lo))
    B=np.stack(bins).astype(np.float32)*m
    Lm=ndi.uniform_filter(Lr,5)
    speck_b=((Lr>Lm*1.25)&m).astype(np.float32); speck_d=((Lr<Lm*0.75)&m).astype(np.float32)
    om1=ndi.uniform_filter(o1,5); om2=ndi.uniform_filter(o2,5)
    speck_c=((np.hypot(o1-om1,o2-om2)>0.25)&m).astype(np.float32)
    lap=np.abs(ndi.laplace(Lr))*m
    gx=ndi.sobel(Lr,1); gy=ndi.sobel(Lr,0); mag=np.hypot(gx,gy)*m
    gl=(n[2]-n[1])/L   # glaucous: blue minus green
    per=[*B,speck_b,speck_d,speck_c,lap,mag,Lr*m,r*m,g*m,b*m,sat*m,o1*m,o2*m,gl*m]
    if nir is not None:
        red=rgb[0]; nd=(nir-red)/(nir+red+1e-4); nr=nir/(np.median(nir[m])+1e-4)
        per+= [nd*m, nr*m]
    else: per+=[np.full(m.shape,np.nan,np.float32)]*2
    per.append((Lr*m)**2)
    per=np.stack(per)
    cm=cellify(m.astype(np.float32)).sum((-3,-1)); cs=cellify(per).sum((-3,-1))
    valid=cm>=0.5*C*C; f=cs/np.maximum(cm,1)
    iL=len(B)+5
    std=np.sqrt(np.maximum(f[-1]-f[iL]**2,0)); f=np.concatenate([f[:-1],std[None]],0)
    jxx=cellify(gx*gx*m).sum((-3,-1)); jyy=cellify(gy*gy*m).sum((-3,-1)); jxy=cellify(gx*gy*m).sum((-3,-1))
    coh=np.sqrt((jxx-jyy)**2+4*jxy**2)/(jxx+jyy+1e-6)
    f=np.concatenate([f,coh[None]],0)
    out=[f]
    for k in (3,7):
        wv=ndi.uniform_filter(valid.astype(np.float32),k)+1e-6
        out.append(np.stack([ndi.uniform_filter(np.nan_to_num(fi)*valid,k)/wv for fi in f]))
    return np.concatenate(out,0),valid

def cell_labels(lab,stage):
    cl=cellify(lab); h,w=cl.shape[0],cl.shape[2]; cl=cl.transpose(0,2,1,3).reshape(h,w,-1)
    counts=np.stack([(cl==k).sum(-1) for k in range(4)],-1); y=counts.argmax(-1); pure=counts.max(-1)>=0.75*C*C
    st=cellify(stage).transpose(0,2,1,3).reshape(h,w,-1); sy=np.stack([(st==k).sum(-1) for k in range(3)],-1).argmax(-1)
    return y,pure,sy

def scene(path):
    rgb,nir,mask,lab,stage,meta=load(path)
    F,valid=features(rgb,nir,mask,meta['bits'])
    y,pure,sy=cell_labels(lab,stage); h,w=y.shape; F=F[:,:h,:w]; valid=valid[:h,:w]
    sel=valid&pure; ii,jj=np.nonzero(sel)
    if len(ii)>CAP:
        k=np.sort(np.random.default_rng(0).choice(len(ii),CAP,replace=False)); ii,jj=ii[k],jj[k]; sel=np.zeros_like(sel); sel[ii,jj]=True
    meta['nir']=int(nir is not None)
    return F[:,ii,jj].T, y[ii,jj], sy[ii,jj], np.stack([ii,jj],1), meta

if __name__=='__main__':
    out=sys.argv[1]; files=sys.argv[2:]; X=[];Y=[];S=[];G=[];P=[];M=[]
    for i,p in enumerate(files):
        x,y,s,pos,meta=scene(p); X.append(x.astype(np.float32));Y.append(y);S.append(s);G.append(np.full(len(y),i));P.append(pos)
        M.append([meta['gsd'],meta['bits'],meta['nir']])
    np.savez_compressed(out,X=np.concatenate(X),y=np.concatenate(Y),s=np.concatenate(S),g=np.concatenate(G),pos=np.concatenate(P),meta=np.array(M),files=np.array(files))
    print(out, sum(len(y) for y in Y))
